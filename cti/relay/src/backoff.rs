//! Exponential backoff with jitter.

use std::time::Duration;

use rand::Rng;

/// Delays `initial, 2·initial, 4·initial … max`, each ± `jitter` (relative).
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    jitter: f64,
    current: Duration,
}

impl Backoff {
    /// A backoff starting at `initial`.
    pub fn new(initial: Duration, max: Duration, jitter: f64) -> Self {
        Self {
            initial,
            max: max.max(initial),
            jitter: jitter.clamp(0.0, 0.99),
            current: initial,
        }
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        if self.jitter == 0.0 {
            return base;
        }
        let factor = rand::rng().random_range((1.0 - self.jitter)..=(1.0 + self.jitter));
        base.mul_f64(factor)
    }

    /// Back to `initial` (after a success).
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_failures_repeat_should_double_up_to_max_and_reset() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350), 0.0);
        let d: Vec<u128> = (0..4).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(d, [100, 200, 350, 350]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
    }

    #[test]
    fn when_jitter_is_set_should_stay_within_bounds() {
        let mut b = Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(1000),
            0.2,
        );
        for _ in 0..100 {
            let d = b.next_delay().as_millis();
            assert!((800..=1200).contains(&d), "{d}");
        }
    }
}
