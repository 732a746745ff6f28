//! Notification delivery (being written).
