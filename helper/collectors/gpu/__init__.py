"""The GPU collector: devices from sysfs, use per device and per process from DRM fdinfo,
sysfs (amdgpu) and NVML (NVIDIA). See docs/dbus-api.md for what it reports."""

from smoothtask_helper.collectors.gpu.collector import GpuCollector, GpuConfig, off_status
from smoothtask_helper.collectors.gpu.errors import GpuDataError

__all__ = ["GpuCollector", "GpuConfig", "GpuDataError", "off_status"]
