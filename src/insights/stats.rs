//! Small statistics: Pearson's r, the Herfindahl-Hirschman index, rounding.

/// Pearson's correlation coefficient of paired samples; None with fewer than 2 pairs or when
/// either side does not vary.
pub fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    let n = pairs.len() as f64;
    if pairs.len() < 2 {
        return None;
    }
    let mean_x = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mean_x) * (y - mean_y);
        sxx += (x - mean_x).powi(2);
        syy += (y - mean_y).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// The Herfindahl-Hirschman index of market shares (fractions summing to 1): the sum of the
/// squared percentage shares, from near 0 (many small suppliers) to 10,000 (one supplier).
pub fn hhi(shares: &[f64]) -> f64 {
    shares.iter().map(|share| (share * 100.0).powi(2)).sum()
}

/// Rounds to `places` decimal places, for figures meant to be read.
pub fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_matches_a_worked_example() {
        // x = 1..5, y = 2, 4, 5, 4, 5: r = 6 / sqrt(10 * 6) = 0.7746
        let pairs = [(1.0, 2.0), (2.0, 4.0), (3.0, 5.0), (4.0, 4.0), (5.0, 5.0)];
        assert!((pearson(&pairs).unwrap() - 0.774_596_669).abs() < 1e-9);
        assert!((pearson(&[(1.0, 3.0), (2.0, 1.0)]).unwrap() + 1.0).abs() < 1e-12);
    }

    #[test]
    fn pearson_is_undefined_without_variation() {
        assert_eq!(pearson(&[(1.0, 2.0)]), None);
        assert_eq!(pearson(&[(1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn hhi_runs_from_competition_to_monopoly() {
        assert_eq!(hhi(&[1.0]), 10_000.0);
        assert_eq!(hhi(&[0.5, 0.5]), 5_000.0);
        assert!((hhi(&[0.25; 4]) - 2_500.0).abs() < 1e-9);
    }
}
