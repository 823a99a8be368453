//! The ranking formula (docs/ranking.md), with every constant in one place.
//!
//! score = DISTANCE_WEIGHT × distance_score + CREDENTIAL_WEIGHT × credential_score
//!
//! * distance_score = 0.5^((d / scale)²) with scale = radius / 2: a Gaussian decay, 1 at the centre,
//!   0.5 at half the radius, 0.0625 at the radius (Elasticsearch's `gauss` with `decay` 0.5).
//! * credential_score ∈ [0, 1] = Σ weight × factor over the factors below, each factor in [0, 1],
//!   counting only credentials that are verified and unexpired at the query's instant.
//!
//! For fixed credentials the score never rises with distance, and the credential part is at most
//! 1, so a candidate at distance ≥ L scores at most `score_upper_bound(L, 1.0)`: the search stops
//! walking outwards once that bound cannot beat the k-th best result.

use serde::Serialize;
use utoipa::ToSchema;

pub const DISTANCE_WEIGHT: f64 = 0.5;
pub const CREDENTIAL_WEIGHT: f64 = 0.5;

pub const BOARD_CERTIFICATION_WEIGHT: f64 = 0.35;
pub const INJECTOR_TRAINING_WEIGHT: f64 = 0.25;
pub const EXPERIENCE_WEIGHT: f64 = 0.25;
pub const PROCEDURE_VOLUME_WEIGHT: f64 = 0.15;

/// Years at which the experience factor reaches 1 − 1/e (≈ 0.63): 1 − e^(−years / scale).
pub const EXPERIENCE_SCALE_YEARS: f64 = 10.0;
/// Procedures a year at which the volume factor reaches 1 (log-scaled below that).
pub const PROCEDURE_VOLUME_SATURATION: f64 = 500.0;

/// The inputs of the credential score, read off a provider's active credentials.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CredentialInputs {
    pub relevant_board_certification: bool,
    pub injector_training: bool,
    pub years_of_experience: Option<u32>,
    pub annual_procedure_volume: Option<u32>,
}

/// One factor of the credential score, so a client can show why a result ranks where it does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Factor {
    /// The factor's value in [0, 1].
    pub value: f64,
    /// Its weight within the credential score.
    pub weight: f64,
    /// value × weight: its share of the credential score.
    pub contribution: f64,
}

impl Factor {
    fn new(value: f64, weight: f64) -> Factor {
        Factor {
            value,
            weight,
            contribution: value * weight,
        }
    }
}

/// The credential factors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct CredentialFactors {
    /// A verified, unexpired board certification in a specialty that treats the requested
    /// indication (any board certification when no treatment is asked for).
    pub board_certification: Factor,
    /// Verified, unexpired botulinum-toxin injector training.
    pub injector_training: Factor,
    /// 1 − e^(−years / 10): diminishing returns.
    pub experience: Factor,
    /// Recorded procedures a year for the requested treatment, log-scaled, saturating at 500.
    pub procedure_volume: Factor,
}

pub fn credential_factors(inputs: &CredentialInputs) -> CredentialFactors {
    let experience = inputs
        .years_of_experience
        .map(|years| 1.0 - (-f64::from(years) / EXPERIENCE_SCALE_YEARS).exp())
        .unwrap_or(0.0);
    let volume = inputs
        .annual_procedure_volume
        .map(|v| ((1.0 + f64::from(v)).ln() / (1.0 + PROCEDURE_VOLUME_SATURATION).ln()).min(1.0))
        .unwrap_or(0.0);
    CredentialFactors {
        board_certification: Factor::new(
            f64::from(u8::from(inputs.relevant_board_certification)),
            BOARD_CERTIFICATION_WEIGHT,
        ),
        injector_training: Factor::new(
            f64::from(u8::from(inputs.injector_training)),
            INJECTOR_TRAINING_WEIGHT,
        ),
        experience: Factor::new(experience, EXPERIENCE_WEIGHT),
        procedure_volume: Factor::new(volume, PROCEDURE_VOLUME_WEIGHT),
    }
}

impl CredentialFactors {
    pub fn score(&self) -> f64 {
        self.board_certification.contribution
            + self.injector_training.contribution
            + self.experience.contribution
            + self.procedure_volume.contribution
    }
}

pub fn credential_score(inputs: &CredentialInputs) -> f64 {
    credential_factors(inputs).score()
}

/// Gaussian decay: 1 at the centre, 0.5 at `scale_m`.
pub fn distance_score(distance_m: f64, radius_m: f64) -> f64 {
    let scale_m = radius_m / 2.0;
    0.5f64.powf((distance_m / scale_m).powi(2))
}

pub fn total_score(distance_m: f64, radius_m: f64, credential_score: f64) -> f64 {
    DISTANCE_WEIGHT * distance_score(distance_m, radius_m) + CREDENTIAL_WEIGHT * credential_score
}

/// The weights a response echoes in its meta.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RankingWeights {
    pub distance: f64,
    pub credentials: f64,
    pub board_certification: f64,
    pub injector_training: f64,
    pub experience: f64,
    pub procedure_volume: f64,
    /// The Gaussian decay's scale: the distance at which the distance score is 0.5 (radius / 2).
    pub distance_scale_km: f64,
}

impl RankingWeights {
    pub fn for_radius(radius_m: f64) -> RankingWeights {
        RankingWeights {
            distance: DISTANCE_WEIGHT,
            credentials: CREDENTIAL_WEIGHT,
            board_certification: BOARD_CERTIFICATION_WEIGHT,
            injector_training: INJECTOR_TRAINING_WEIGHT,
            experience: EXPERIENCE_WEIGHT,
            procedure_volume: PROCEDURE_VOLUME_WEIGHT,
            distance_scale_km: radius_m / 2000.0,
        }
    }
}

/// Why a result ranks where it does: `score = distance_contribution + credential_contribution`,
/// `credential_score = Σ factors.*.contribution`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "score": 0.8123, "distance_score": 0.9412, "distance_contribution": 0.4706,
    "credential_score": 0.6834, "credential_contribution": 0.3417,
    "factors": {
        "board_certification": {"value": 1.0, "weight": 0.35, "contribution": 0.35},
        "injector_training": {"value": 1.0, "weight": 0.25, "contribution": 0.25},
        "experience": {"value": 0.3297, "weight": 0.25, "contribution": 0.0834},
        "procedure_volume": {"value": 0.0, "weight": 0.15, "contribution": 0.0}
    },
    "provider_id": 42
}))]
pub struct RankingExplanation {
    /// The total: the sort key for `sort=best`.
    pub score: f64,
    pub distance_score: f64,
    /// DISTANCE_WEIGHT × distance_score.
    pub distance_contribution: f64,
    pub credential_score: f64,
    /// CREDENTIAL_WEIGHT × credential_score.
    pub credential_contribution: f64,
    pub factors: CredentialFactors,
    /// The provider whose credentials gave the credential score (for a location: its best match).
    #[schema(value_type = crate::domain::schemas::Id, inline)]
    pub provider_id: i64,
}

pub fn explain(
    distance_m: f64,
    radius_m: f64,
    inputs: &CredentialInputs,
    provider_id: i64,
) -> RankingExplanation {
    let factors = credential_factors(inputs);
    let credential_score = factors.score();
    let distance_score = distance_score(distance_m, radius_m);
    let distance_contribution = DISTANCE_WEIGHT * distance_score;
    let credential_contribution = CREDENTIAL_WEIGHT * credential_score;
    RankingExplanation {
        score: distance_contribution + credential_contribution,
        distance_score,
        distance_contribution,
        credential_score,
        credential_contribution,
        factors,
        provider_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one() {
        assert!((DISTANCE_WEIGHT + CREDENTIAL_WEIGHT - 1.0).abs() < 1e-12);
        let factors = BOARD_CERTIFICATION_WEIGHT
            + INJECTOR_TRAINING_WEIGHT
            + EXPERIENCE_WEIGHT
            + PROCEDURE_VOLUME_WEIGHT;
        assert!((factors - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_score_never_rises_with_distance() {
        let inputs = CredentialInputs {
            relevant_board_certification: true,
            years_of_experience: Some(7),
            ..Default::default()
        };
        let credential = credential_score(&inputs);
        let mut previous = f64::INFINITY;
        for step in 0..=100 {
            let score = total_score(f64::from(step) * 250.0, 25_000.0, credential);
            assert!(score <= previous);
            previous = score;
        }
        assert!((distance_score(12_500.0, 25_000.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn explanations_add_up() {
        let inputs = CredentialInputs {
            relevant_board_certification: true,
            injector_training: false,
            years_of_experience: Some(12),
            annual_procedure_volume: Some(120),
        };
        let explanation = explain(3_000.0, 25_000.0, &inputs, 1);
        let factors = explanation.factors;
        let sum = factors.board_certification.contribution
            + factors.injector_training.contribution
            + factors.experience.contribution
            + factors.procedure_volume.contribution;
        assert!((sum - explanation.credential_score).abs() < 1e-12);
        assert!(
            (explanation.distance_contribution + explanation.credential_contribution
                - explanation.score)
                .abs()
                < 1e-12
        );
        assert!(
            (explanation.score - total_score(3_000.0, 25_000.0, credential_score(&inputs))).abs()
                < 1e-12
        );
    }
}
