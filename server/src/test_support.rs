//! Fixtures shared by the unit tests of several modules.

use app::event::Event;

/// A plain event; each test changes what it is about (`Event { action: …, ..sample_event() }`).
pub fn sample_event() -> Event {
    use app::event::{Actor, ActorType, Outcome};
    let t = chrono::DateTime::from_timestamp(1_764_000_000, 0).expect("t");
    Event {
        id: uuid::Uuid::from_u128(1),
        occurred_at: t,
        received_at: t,
        action: "a".into(),
        actor: Actor { id: "u".into(), name: "U".into(), email: None, actor_type: ActorType::User },
        source: None,
        method: None,
        status: None,
        path: None,
        outcome: Outcome::Failure,
        error: None,
        resource: None,
        context: Default::default(),
        request_id: None,
        ip: None,
        user_agent: None,
        changes: vec![],
        metadata: None,
    }
}
