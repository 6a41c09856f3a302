"""BlazePose on TFLite: runtime loader, detector, landmark model and the two-stage tracker."""
