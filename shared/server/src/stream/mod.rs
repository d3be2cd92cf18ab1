//! `GET /v1/stream`: server-sent events fed from the audit change feed.
//!
//! One [`hub::StreamHub`] per process reads the feed (the audit store, so a
//! client sees what every instance dispatched) and hands each record to the
//! connections whose filter and grants match; a connection is a bounded
//! channel, so a slow consumer is dropped instead of buffered, and an idle
//! one costs nothing per record.

mod cursor;
mod event;
mod filter;
pub(crate) mod hub;
mod route;

pub(crate) use filter::StreamFilter;
pub(crate) use hub::StreamHub;
pub(crate) use route::stream;
