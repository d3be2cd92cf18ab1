//! The gateway's measures as a scrape and as what the dispatch path records
//! (the measures themselves: `metrics` and `telemetry`).

use crate::gateway::Gateway;
use crate::telemetry::Telemetry;

impl Gateway {
    /// `GET /metrics/prometheus`. Breaker states are read as
    /// `GET /v1/circuit-breakers` reads them; a store that cannot answer
    /// leaves them out of this scrape rather than failing it.
    pub async fn prometheus(&self) -> String {
        let breakers = match self.circuit_breakers().await {
            Ok(list) => list
                .iter()
                .filter_map(|b| {
                    Some((
                        b["provider"].as_str()?.to_string(),
                        b["state"].as_str()?.to_string(),
                    ))
                })
                .collect(),
            Err(err) => {
                tracing::warn!(error = %err, "breaker states left out of the metrics scrape");
                Vec::new()
            }
        };
        self.telemetry.encode(&self.metrics(), &breakers)
    }

    /// Count a dispatch's outcome, plain and labelled, with the pipeline's time.
    pub(crate) fn record_outcome(
        &self,
        action: &switchyard_core::Action,
        provider: &str,
        outcome: &switchyard_core::ActionOutcome,
        started: std::time::Instant,
    ) {
        self.metrics.record(outcome);
        self.telemetry.observe_dispatch(
            &action.namespace,
            &action.tenant,
            provider,
            outcome.tag(),
            started.elapsed(),
        );
    }

    /// The labelled measures (the Lambda functions report them too).
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }
}
