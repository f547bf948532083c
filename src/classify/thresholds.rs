//! Choosing decision thresholds for a target ham false-positive rate.

/// The smallest threshold `t` such that at most `target_fpr` of `ham_scores` are `> t`.
/// `+∞` when there are no ham scores (nothing can be promised).
pub fn threshold_for_fpr(ham_scores: &[f64], target_fpr: f64) -> f64 {
    if ham_scores.is_empty() {
        return f64::INFINITY;
    }
    let mut sorted: Vec<f64> = ham_scores.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let allowed = (target_fpr.max(0.0) * sorted.len() as f64).floor() as usize;
    if allowed >= sorted.len() {
        return f64::NEG_INFINITY;
    }
    sorted[allowed]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_target_share_of_ham_is_above() {
        let ham: Vec<f64> = (0..1000).map(f64::from).collect();
        let t = threshold_for_fpr(&ham, 0.01);
        assert_eq!(ham.iter().filter(|&&s| s > t).count(), 10);
        let t = threshold_for_fpr(&ham, 0.001);
        assert_eq!(ham.iter().filter(|&&s| s > t).count(), 1);
        let t = threshold_for_fpr(&ham, 0.0);
        assert_eq!(ham.iter().filter(|&&s| s > t).count(), 0);
        // Ties at the boundary never push the rate over the target.
        let tied = [5.0, 5.0, 5.0, 1.0];
        let t = threshold_for_fpr(&tied, 0.5);
        assert!(tied.iter().filter(|&&s| s > t).count() <= 2);
        assert_eq!(threshold_for_fpr(&[], 0.1), f64::INFINITY);
    }
}
