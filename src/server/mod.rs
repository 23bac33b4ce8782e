//! Listeners and stdio: how bytes reach a session (stub; being written).
