//! Demo traffic generator: Poisson arrivals, talk-time distribution, abandon patience, IVR
//! choices. Deterministic for a given seed (one `StdRng` drives every draw).

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What a generated call will do (kept on the call; timers are armed by the PBX).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallPlan {
    /// Talk time once an agent answers, ms (the caller hangs up then).
    pub talk_ms: u64,
    /// The caller abandons if no agent answered within this, ms.
    pub patience_ms: u64,
    /// DTMF digit keyed at the IVR, if any.
    pub ivr_digit: Option<String>,
    /// Delay before keying it, ms.
    pub ivr_delay_ms: u64,
}

/// Talk-time distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case")]
pub enum TalkTime {
    /// Exponential with this mean.
    Exponential {
        /// Mean, seconds.
        mean_s: f64,
    },
    /// Uniform between min and max.
    Uniform {
        /// Minimum, seconds.
        min_s: f64,
        /// Maximum, seconds.
        max_s: f64,
    },
    /// Always the same.
    Fixed {
        /// Seconds.
        s: f64,
    },
}

/// A weighted call target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Called device (pilot, IVR port, extension).
    pub to: String,
    /// Relative weight.
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

/// Traffic settings (`POST /traffic/start` body; every field optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrafficProfile {
    /// Mean arrivals per minute (Poisson process).
    pub arrivals_per_minute: f64,
    /// Where calls go.
    pub targets: Vec<Target>,
    /// Talk time.
    pub talk_time: TalkTime,
    /// Mean abandon patience, seconds (exponential).
    pub patience_mean_s: f64,
    /// IVR digit → probability (normalised; the rest of the mass = no digit).
    pub ivr_choices: BTreeMap<String, f64>,
    /// Delay before the caller keys the IVR digit, seconds.
    pub ivr_delay_s: f64,
    /// Agents auto-answer after this delay while traffic runs; `None` leaves the setting as is.
    pub agent_answer_s: Option<f64>,
    /// Stop after this many calls (`None` = until stopped).
    pub max_calls: Option<u64>,
    /// RNG seed (`None` = the simulator's `--seed`, else random).
    pub seed: Option<u64>,
}

impl Default for TrafficProfile {
    fn default() -> Self {
        Self {
            arrivals_per_minute: 6.0,
            targets: vec![Target {
                to: "6001".into(),
                weight: 1.0,
            }],
            talk_time: TalkTime::Exponential { mean_s: 60.0 },
            patience_mean_s: 90.0,
            ivr_choices: [("1", 0.5), ("2", 0.3), ("3", 0.2)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            ivr_delay_s: 3.0,
            agent_answer_s: Some(2.0),
            max_calls: None,
            seed: None,
        }
    }
}

/// Invalid traffic profile.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrafficError {
    /// A numeric setting is out of range.
    #[error("invalid traffic profile: {0}")]
    Invalid(&'static str),
}

fn secs_ms(s: f64) -> u64 {
    // Saturating float → int conversion is what we want for durations.
    (s.max(0.0) * 1000.0).round() as u64
}

/// One generated arrival.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    /// Delay since the previous arrival.
    pub gap: Duration,
    /// Caller number.
    pub from: String,
    /// Called device.
    pub to: String,
    /// What the call will do.
    pub plan: CallPlan,
}

/// Draws arrivals from a profile.
#[derive(Debug)]
pub struct Generator {
    profile: TrafficProfile,
    rng: StdRng,
}

impl Generator {
    /// A generator; fails on a nonsensical profile.
    pub fn new(profile: TrafficProfile, seed: u64) -> Result<Self, TrafficError> {
        if !(profile.arrivals_per_minute > 0.0 && profile.arrivals_per_minute.is_finite()) {
            return Err(TrafficError::Invalid("arrivals_per_minute must be > 0"));
        }
        if profile.targets.is_empty() || profile.targets.iter().any(|t| t.weight < 0.0) {
            return Err(TrafficError::Invalid(
                "targets must be non-empty with weights >= 0",
            ));
        }
        if profile.targets.iter().map(|t| t.weight).sum::<f64>() <= 0.0 {
            return Err(TrafficError::Invalid("target weights sum to 0"));
        }
        if profile.ivr_choices.values().any(|p| *p < 0.0) {
            return Err(TrafficError::Invalid(
                "ivr choice probabilities must be >= 0",
            ));
        }
        match profile.talk_time {
            TalkTime::Uniform { min_s, max_s } if min_s > max_s || min_s < 0.0 => {
                return Err(TrafficError::Invalid("talk_time min_s must be <= max_s"))
            }
            _ => {}
        }
        Ok(Self {
            profile,
            rng: StdRng::seed_from_u64(seed),
        })
    }

    /// The profile.
    pub fn profile(&self) -> &TrafficProfile {
        &self.profile
    }

    fn exp(&mut self, mean: f64) -> f64 {
        let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
        -mean * u.ln()
    }

    /// The next arrival.
    pub fn next_arrival(&mut self) -> Arrival {
        let gap_s = self.exp(60.0 / self.profile.arrivals_per_minute);
        let from = format!("06{:08}", self.rng.random_range(0..100_000_000u32));
        let total: f64 = self.profile.targets.iter().map(|t| t.weight).sum();
        let mut pick = self.rng.random_range(0.0..total);
        let mut to = self.profile.targets[0].to.clone();
        for t in &self.profile.targets {
            if pick < t.weight {
                to = t.to.clone();
                break;
            }
            pick -= t.weight;
        }
        let talk_s = match self.profile.talk_time {
            TalkTime::Exponential { mean_s } => self.exp(mean_s),
            TalkTime::Uniform { min_s, max_s } if max_s > min_s => {
                self.rng.random_range(min_s..max_s)
            }
            TalkTime::Uniform { min_s, .. } => min_s,
            TalkTime::Fixed { s } => s,
        };
        let patience_s = self.exp(self.profile.patience_mean_s);
        let mass: f64 = self.profile.ivr_choices.values().sum();
        let mut pick = self.rng.random_range(0.0..mass.max(1.0));
        let mut ivr_digit = None;
        for (d, p) in &self.profile.ivr_choices {
            if pick < *p {
                ivr_digit = Some(d.clone());
                break;
            }
            pick -= p;
        }
        Arrival {
            gap: Duration::from_millis(secs_ms(gap_s)),
            from,
            to,
            plan: CallPlan {
                talk_ms: secs_ms(talk_s),
                patience_ms: secs_ms(patience_s),
                ivr_digit,
                ivr_delay_ms: secs_ms(self.profile.ivr_delay_s),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_seed_is_fixed_should_draw_the_same_arrivals() {
        // GIVEN two generators with the same seed
        let mut a = Generator::new(TrafficProfile::default(), 42).unwrap();
        let mut b = Generator::new(TrafficProfile::default(), 42).unwrap();
        // WHEN / THEN they draw the same sequence
        for _ in 0..20 {
            assert_eq!(a.next_arrival(), b.next_arrival());
        }
    }

    #[test]
    fn when_many_arrivals_are_drawn_should_match_the_poisson_rate() {
        let profile = TrafficProfile {
            arrivals_per_minute: 60.0,
            ..Default::default()
        };
        let mut g = Generator::new(profile, 7).unwrap();
        let n = 5000;
        let total: Duration = (0..n).map(|_| g.next_arrival().gap).sum();
        let mean = total.as_secs_f64() / f64::from(n);
        assert!((mean - 1.0).abs() < 0.05, "mean gap {mean}");
    }

    #[test]
    fn when_profile_has_zero_rate_should_refuse_it() {
        let profile = TrafficProfile {
            arrivals_per_minute: 0.0,
            ..Default::default()
        };
        assert!(Generator::new(profile, 1).is_err());
    }

    #[test]
    fn when_ivr_choices_are_weighted_should_pick_each_digit() {
        let mut g = Generator::new(TrafficProfile::default(), 3).unwrap();
        let mut seen = BTreeMap::new();
        for _ in 0..1000 {
            let d = g.next_arrival().plan.ivr_digit.unwrap_or_default();
            *seen.entry(d).or_insert(0) += 1;
        }
        assert!(seen["1"] > seen["3"], "{seen:?}");
        assert_eq!(seen.len(), 3);
    }
}
