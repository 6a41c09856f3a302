"""LeanCam's configuration: one strict TOML file over frozen-dataclass defaults (docs/configuration.md).

``sections`` holds every table with the reason for each value; ``loader`` reads the file and the
``LEANCAM_<SECTION>_<KEY>`` environment overrides; ``template`` renders ``leancam config
--defaults``. Importing this package needs nothing beyond the standard library.
"""

from appliance.config.loader import (
    ENV_PREFIX,
    config_from_dict,
    env_overrides,
    load_appliance_config,
    load_config,
    read_toml,
)
from appliance.config.sections import (
    CAMERA_SOURCE_RE,
    DIRECTIONS,
    GPIO_MAX,
    MAIN_STREAM_PX,
    MQTT_TOPIC_RE,
    VERDICT_HOLD_S,
    CameraConfig,
    Config,
    GaitConfig,
    LeanConfig,
    LedConfig,
    MqttConfig,
    PoseConfig,
    RecorderConfig,
    RetentionConfig,
    UnitConfig,
    WebConfig,
)

__all__ = [
    "CAMERA_SOURCE_RE",
    "DIRECTIONS",
    "ENV_PREFIX",
    "GPIO_MAX",
    "MAIN_STREAM_PX",
    "MQTT_TOPIC_RE",
    "VERDICT_HOLD_S",
    "CameraConfig",
    "Config",
    "GaitConfig",
    "LeanConfig",
    "LedConfig",
    "MqttConfig",
    "PoseConfig",
    "RecorderConfig",
    "RetentionConfig",
    "UnitConfig",
    "WebConfig",
    "config_from_dict",
    "env_overrides",
    "load_appliance_config",
    "load_config",
    "read_toml"
]
