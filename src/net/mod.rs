pub mod blocked;
pub mod client;
pub mod conn;
pub mod dispatch;
pub mod monitor;
pub mod registry;
pub mod uring;
