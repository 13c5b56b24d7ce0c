//! Capture: turning Gmail messages into stored email (R-CAP-2 … R-CAP-7).
