//! What the four Lambda functions share. A function crate only turns its
//! event into a call of this crate and the answer back into its response.
//!
//! - [`settings`]: the environment the template gives every function.
//! - [`init`]: one gateway per execution environment, on DynamoDB, SQS and
//!   EventBridge Scheduler, with the rules bundled or from S3.
//! - [`sqs`]: a batch of delayed messages → partial batch failures.
//! - [`scheduler`]: the scheduler function's two event shapes.
//! - [`dispatch`]: the HTTP API (the local server's router).
//! - [`emf`]: one CloudWatch Embedded Metric Format object per invocation.

mod approval_keys;
pub mod dispatch;
pub mod emf;
pub mod init;
pub mod logging;
pub mod provider_secrets;
mod rules_source;
pub mod scheduler;
pub mod settings;
pub mod sqs;
mod ssm;

pub use init::{Runtime, init, init_with, start};
pub use rules_source::{RulesOrigin, S3Location};
pub use settings::Settings;
