//! The embedded adapters as one bundle.

use std::sync::Arc;

use switchyard_core::Clock;
use switchyard_gateway::GatewayPorts;

/// The embedded adapters, with handles the local process needs (the delay
/// queue is drained by its worker loop; the state store is swept).
#[derive(Clone)]
pub struct MemoryPorts {
    pub ports: GatewayPorts,
    pub state: switchyard_store::MemoryStateStore,
    pub audit: switchyard_store::MemoryAuditStore,
    pub queue: switchyard_store::MemoryDelayQueue,
    /// The queue the local worker drains: `queue`, unless a durable backend
    /// replaced the gateway's delay queue (then that one).
    pub worker_queue: Arc<dyn switchyard_store::PolledQueue>,
}

impl MemoryPorts {
    pub fn new(clock: Arc<dyn Clock>, audit_capacity: usize) -> Self {
        let state = switchyard_store::MemoryStateStore::new(clock.clone());
        let audit = switchyard_store::MemoryAuditStore::new(clock.clone(), audit_capacity);
        let queue = switchyard_store::MemoryDelayQueue::new(clock.clone());
        Self {
            ports: GatewayPorts {
                state: Arc::new(state.clone()),
                audit: Arc::new(audit.clone()),
                queue: Arc::new(queue.clone()),
                clock,
            },
            state,
            audit,
            worker_queue: Arc::new(queue.clone()),
            queue,
        }
    }
}
