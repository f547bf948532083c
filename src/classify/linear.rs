//! The linear half of NBSVM: an L2-regularized, L2-loss linear SVM solved by dual
//! coordinate descent (Hsieh et al. 2008, the method of LIBLINEAR), and Platt's sigmoid.
//!
//! Written here rather than taken from a crate because training must be byte-for-byte
//! reproducible: one thread, a fixed visiting order from a seeded generator, and sums in
//! a fixed order.

/// Sparse rows: `row i` is `indices[starts[i]..starts[i+1]]` with its `values`.
pub struct Rows {
    pub starts: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f64>,
}

impl Rows {
    fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let range = self.starts[i]..self.starts[i + 1];
        (&self.indices[range.clone()], &self.values[range])
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }
}

/// Epochs over the data at most; the solver usually stops earlier on its gradient test.
const MAX_EPOCHS: usize = 60;
/// Stop when the projected gradient's spread falls below this (LIBLINEAR's default).
const TOLERANCE: f64 = 0.1;

/// Fits `w` (one weight per column) and a bias for labels `spam[i]` (true = +1), each
/// row's cost `cost * weight[i]`. The bias is a constant feature of value 1, regularized
/// like the others, as LIBLINEAR's `-B 1` does.
pub fn train_svm(
    rows: &Rows,
    spam: &[bool],
    weight: &[f64],
    columns: usize,
    cost: f64,
    seed: u64,
) -> (Vec<f64>, f64) {
    let n = rows.len();
    let mut w = vec![0.0; columns];
    let mut bias = 0.0;
    let mut alpha = vec![0.0; n];
    let diag: Vec<f64> = (0..n).map(|i| 0.5 / (cost * weight[i])).collect();
    let q: Vec<f64> = (0..n)
        .map(|i| {
            let (_, values) = rows.row(i);
            values.iter().map(|v| v * v).sum::<f64>() + 1.0 + diag[i]
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = seed;
    for _ in 0..MAX_EPOCHS {
        shuffle(&mut order, &mut rng);
        let (mut max_pg, mut min_pg) = (f64::NEG_INFINITY, f64::INFINITY);
        for &i in &order {
            let (indices, values) = rows.row(i);
            let y = if spam[i] { 1.0 } else { -1.0 };
            let margin = margin(&w, bias, indices, values);
            let gradient = y * margin - 1.0 + diag[i] * alpha[i];
            let projected = if alpha[i] == 0.0 {
                gradient.min(0.0)
            } else {
                gradient
            };
            max_pg = max_pg.max(projected);
            min_pg = min_pg.min(projected);
            if projected.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - gradient / q[i]).max(0.0);
                let step = (alpha[i] - old) * y;
                for (&j, v) in indices.iter().zip(values) {
                    w[j as usize] += step * v;
                }
                bias += step;
            }
        }
        if max_pg - min_pg < TOLERANCE {
            break;
        }
    }
    (w, bias)
}

/// A row's signed distance from the separating hyperplane (up to the weights' norm).
fn margin(w: &[f64], bias: f64, indices: &[u32], values: &[f64]) -> f64 {
    indices
        .iter()
        .zip(values)
        .map(|(&j, v)| w[j as usize] * v)
        .sum::<f64>()
        + bias
}

/// Fisher–Yates with splitmix64: the same order for the same seed on every machine.
fn shuffle(order: &mut [usize], state: &mut u64) {
    for i in (1..order.len()).rev() {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        order.swap(i, (z % (i as u64 + 1)) as usize);
    }
}

/// Platt's sigmoid `P(spam) = 1 / (1 + exp(-(slope · score + offset)))` fitted to held-out
/// scores by Newton's method on the log-loss, with Platt's smoothed targets so that a
/// separable sample does not push the slope to infinity. Returns `(slope, offset)`.
pub fn fit_platt(scores: &[f64], spam: &[bool]) -> (f64, f64) {
    let positives = spam.iter().filter(|s| **s).count() as f64;
    let negatives = spam.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return (1.0, 0.0);
    }
    let high = (positives + 1.0) / (positives + 2.0);
    let low = 1.0 / (negatives + 2.0);
    let (mut a, mut b) = (1.0, 0.0);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
        for (&s, &is_spam) in scores.iter().zip(spam) {
            let target = if is_spam { high } else { low };
            let p = sigmoid(a * s + b);
            let d = p - target;
            ga += d * s;
            gb += d;
            let h = p * (1.0 - p);
            haa += h * s * s;
            hab += h * s;
            hbb += h;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-300 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-10 && db.abs() < 1e-10 {
            break;
        }
    }
    (a, b)
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two separable clusters: the SVM puts every training row on its side.
    #[test]
    fn separable_data_is_separated() {
        let data: [(&[u32], &[f64], bool); 4] = [
            (&[0, 2], &[1.0, 0.5], true),
            (&[0], &[0.8], true),
            (&[1], &[1.0], false),
            (&[1, 2], &[0.9, 0.5], false),
        ];
        let mut rows = Rows {
            starts: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
        };
        let mut spam = Vec::new();
        for (indices, values, label) in data {
            rows.indices.extend_from_slice(indices);
            rows.values.extend_from_slice(values);
            rows.starts.push(rows.indices.len());
            spam.push(label);
        }
        let (w, bias) = train_svm(&rows, &spam, &[1.0; 4], 3, 10.0, 7);
        for (i, is_spam) in spam.iter().enumerate() {
            let (indices, values) = rows.row(i);
            let margin = margin(&w, bias, indices, values);
            assert_eq!(margin > 0.0, *is_spam, "row {i}: {margin}");
        }
        // The same seed gives the same bits.
        assert_eq!(train_svm(&rows, &spam, &[1.0; 4], 3, 10.0, 7), (w, bias));
    }

    #[test]
    fn platt_is_increasing_and_calibrated_on_a_mixed_sample() {
        let scores: Vec<f64> = (-10..=10).map(f64::from).collect();
        let spam: Vec<bool> = scores.iter().map(|s| *s > 1.0 || *s == -3.0).collect();
        let (slope, offset) = fit_platt(&scores, &spam);
        assert!(slope > 0.0, "{slope}");
        assert!(sigmoid(slope * 10.0 + offset) > 0.9);
        assert!(sigmoid(slope * -10.0 + offset) < 0.1);
    }
}
