//! fixring: a FIX-protocol connection engine for Linux on io_uring.
