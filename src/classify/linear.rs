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

/// Platt's sigmoid with the message's length as a second input:
/// `logit P(spam) = slope · score + offset + length_slope · score · L + length_offset · L`,
/// `L = ln(1 + tokens)` ([`length_input`]). A length-normalized score means more from a
/// long message than from a short one (more evidence behind it), and how often a
/// message of a given length is spam differs by corpus (text-message spam runs longer
/// than the ham); one slope and offset for every length cannot say either. Fitted like
/// [`fit_platt`] (Newton on the log-loss, Platt's smoothed targets) from the same
/// cross-validated scores. Returns `[slope, offset, length_slope, length_offset]`.
pub fn fit_platt_with_length(scores: &[f64], tokens: &[u32], spam: &[bool]) -> [f64; 4] {
    let positives = spam.iter().filter(|s| **s).count() as f64;
    let negatives = spam.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return [1.0, 0.0, 0.0, 0.0];
    }
    let high = (positives + 1.0) / (positives + 2.0);
    let low = 1.0 / (negatives + 2.0);
    let inputs: Vec<[f64; 4]> = scores
        .iter()
        .zip(tokens)
        .map(|(&s, &t)| {
            let length = length_input(t);
            [s, 1.0, s * length, length]
        })
        .collect();
    let mut theta = [1.0, 0.0, 0.0, 0.0];
    for _ in 0..100 {
        let mut gradient = [0.0; 4];
        let mut hessian = [[0.0; 4]; 4];
        for (x, &is_spam) in inputs.iter().zip(spam) {
            let target = if is_spam { high } else { low };
            let p = sigmoid(dot(&theta, x));
            let h = p * (1.0 - p);
            for j in 0..4 {
                gradient[j] += (p - target) * x[j];
                for k in 0..4 {
                    hessian[j][k] += h * x[j] * x[k];
                }
            }
        }
        for (j, row) in hessian.iter_mut().enumerate() {
            row[j] += 1e-9;
        }
        let Some(step) = solve(hessian, gradient) else {
            break;
        };
        for (t, d) in theta.iter_mut().zip(step) {
            *t -= d;
        }
        if step.iter().all(|d| d.abs() < 1e-10) {
            break;
        }
    }
    theta
}

/// The length input of [`fit_platt_with_length`]: `ln(1 + tokens)`, so that doubling a
/// message's length moves it by a constant step whether it has ten tokens or a thousand.
pub fn length_input(tokens: u32) -> f64 {
    f64::from(tokens).ln_1p()
}

fn dot(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting; `None` when `a` is
/// singular (the Newton step stops there).
fn solve(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
    for col in 0..4 {
        let pivot = (col..4).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            for (cell, above) in row.iter_mut().zip(pivot_row).skip(col) {
                *cell -= factor * above;
            }
            b[col + 1 + offset] -= factor * b[col];
        }
    }
    let mut x = [0.0; 4];
    for row in (0..4).rev() {
        let tail: f64 = (row + 1..4).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    Some(x)
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

    /// On text messages, spam runs longer than ham: with scores that cannot tell the
    /// classes apart, the length terms still can, and the fit finds them.
    #[test]
    fn the_length_terms_learn_what_length_says_about_the_class() {
        let mut scores = Vec::new();
        let mut tokens = Vec::new();
        let mut spam = Vec::new();
        for i in 0..200u32 {
            let long = i % 2 == 0;
            // Nine in ten long messages are spam, one in ten short ones.
            spam.push(if long { i % 20 != 0 } else { i % 20 == 1 });
            tokens.push(if long { 40 + i % 30 } else { 3 + i % 8 });
            scores.push(f64::from(i % 7) / 10.0 - 0.3);
        }
        let theta = fit_platt_with_length(&scores, &tokens, &spam);
        let log_odds = |s: f64, t: u32| {
            let l = length_input(t);
            theta[0] * s + theta[1] + theta[2] * s * l + theta[3] * l
        };
        for s in [-0.3, 0.0, 0.3] {
            assert!(log_odds(s, 55) > 1.0, "{theta:?}");
            assert!(log_odds(s, 5) < -1.0, "{theta:?}");
        }
    }

    /// Where length says nothing, the length-aware fit decides as Platt's sigmoid does.
    #[test]
    fn without_a_length_effect_the_decisions_are_platts() {
        let scores: Vec<f64> = (-30..=30).map(|i| f64::from(i) / 3.0).collect();
        let spam: Vec<bool> = scores.iter().map(|s| *s > 1.0 || *s == -3.0).collect();
        // Every label comes at every length, in turn.
        let tokens: Vec<u32> = (0..scores.len() as u32)
            .map(|i| [4, 40, 400][(i % 3) as usize])
            .collect();
        let (slope, offset) = fit_platt(&scores, &spam);
        let theta = fit_platt_with_length(&scores, &tokens, &spam);
        for (&s, &t) in scores.iter().zip(&tokens) {
            let l = length_input(t);
            let with_length = theta[0] * s + theta[1] + theta[2] * s * l + theta[3] * l;
            assert_eq!(
                with_length > 0.0,
                slope * s + offset > 0.0,
                "score {s}, {theta:?}"
            );
        }
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
