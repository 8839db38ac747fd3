pub mod blocked;
pub mod client;
pub mod conn;
pub mod dispatch;
pub mod monitor;
pub mod pubsub;
pub mod registry;
pub mod uring;
