"""What the runner sees: verdicts → lights. ``controller`` decides what to show and when (continuous
and drill modes, hold times, the LED self-test, the long press that ends a session); ``leds`` holds
the gpiozero devices behind the pin-factory seam."""
