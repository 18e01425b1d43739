"""What the benchmark scripts say about the machine they ran on."""
import platform
import subprocess


def cpu_name():
    """The CPU's model name (lscpu), so a printed result names its machine."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine() or "unknown CPU"
