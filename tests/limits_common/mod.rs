//! Helpers shared by the limits integration tests.
#![allow(dead_code)]

use sendguard::domain::{Format, RenderedBody};
use sendguard::limits::{Fingerprint, Limiter};
use sendguard::Engine;

/// The fan-out fingerprint of a plain-text message as the send path computes it: the
/// engine's normalizer (look-alike letters folded, entities typed) and then the limiter's
/// SimHash of the normalized tokens.
pub fn fingerprint(limiter: &Limiter, text: &str) -> Option<Fingerprint> {
    thread_local! {
        static ENGINE: Engine = Engine::default();
    }
    let normalized =
        ENGINE.with(|engine| engine.normalize(&RenderedBody::render(Format::Text, text)));
    limiter.fingerprint_tokens(&normalized.tokens)
}

/// splitmix64: a tiny seeded PRNG, so simulations are deterministic.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Log-normal with the given median and shape.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
