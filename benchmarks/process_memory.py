"""The memory of this process, for the benchmarks: RSS now, its peak, and a reset of the peak.

Linux only (``/proc/self``). The benchmarks measure a step's peak from a baseline taken once
torch, mmseg and mtda are imported: importing torch 2.x alone takes more memory than many of the
steps measured, and no implementation can give it back.
"""


def status() -> dict:
    """``{'VmRSS': bytes, 'VmHWM': bytes}``: resident memory now and its high-water mark."""
    fields = {}
    with open('/proc/self/status') as f:
        for line in f:
            key, _, value = line.partition(':')
            if key in ('VmRSS', 'VmHWM'):
                fields[key] = int(value.split()[0]) * 1024
    return fields


def reset_peak() -> None:
    """Set the high-water mark (VmHWM) to the current RSS."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
