# Honouring Ctrl-C inside loops that run without the GIL.
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC



cdef inline double monotonic_seconds() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + 1e-9 * ts.tv_nsec


cdef inline bint check_due(double* last_check) noexcept nogil:
    """True when 20 ms have passed since the last check (and resets it).

    Often enough that Ctrl-C stops a fit within ~0.1 s, rarely enough that
    taking the GIL costs nothing measurable and never serialises fits
    running in other threads.
    """
    cdef double now = monotonic_seconds()
    if now - last_check[0] < 0.02:
        return False
    last_check[0] = now
    return True
