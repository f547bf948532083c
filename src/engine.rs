//! The engine: the one path from a message and its context to a [`Verdict`].
//!
//! The send path, `POST /v1/assess`, batch rescoring and reports all call
//! [`Engine::assess`], so no decision has a second implementation. Stages plug in here in
//! data-flow order: render → normalize → rules → classify → limits → `policy::decide`.

use crate::domain::{RenderedBody, Verdict};
use crate::policy::{self, PolicyConfig, Relationship, Signals};

/// What the engine needs to know about one message.
#[derive(Debug, Clone)]
pub struct AssessInput<'a> {
    pub body: &'a RenderedBody,
    pub relationship: Relationship,
}

/// Loaded models, rules and policy; cheap to share behind an `Arc`.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    policy: PolicyConfig,
}

impl Engine {
    pub fn new(policy: PolicyConfig) -> Engine {
        Engine { policy }
    }

    pub fn assess(&self, input: &AssessInput<'_>) -> Verdict {
        let signals = Signals {
            relationship: input.relationship,
            ..Signals::default()
        };
        policy::decide(&signals, &self.policy)
    }
}
