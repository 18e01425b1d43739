"""What the benchmark scripts say about the machine they ran on."""
import os
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


def blas_libraries():
    """The BLAS libraries loaded in this process, '; '-joined, each as
    'internal_api version (architecture, N threads)' (threadpoolctl)."""
    from threadpoolctl import threadpool_info
    return "; ".join(f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}, "
                     f"{i['num_threads']} threads)" for i in threadpool_info()
                     if i["user_api"] == "blas")


def openblas_settings():
    """'OPENBLAS_CORETYPE=..., OPENBLAS_L2_SIZE=...' as this process has them."""
    return ", ".join(f"{name}={os.environ.get(name, '(unset)')}"
                     for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
