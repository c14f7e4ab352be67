//! Hex prefixes of digests: how many leading hex characters tell a digest apart from its
//! neighbours, so that calls can be shown and named by short prefixes such as `60079f79`.

use super::Digest;

/// Number of leading hex characters two digests share.
pub(crate) fn common_hex_prefix(a: &Digest, b: &Digest) -> usize {
    let mut n = 0;
    for (x, y) in a.as_bytes().iter().zip(b.as_bytes()) {
        if x == y {
            n += 2;
        } else {
            if x >> 4 == y >> 4 {
                n += 1;
            }
            break;
        }
    }
    n
}

/// Shortest unambiguous prefix lengths of `targets` among `all` (both sorted), in one pass.
pub(crate) fn shortest_prefixes(all: &[Digest], targets: &[Digest], min: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(targets.len());
    let mut j = 0;
    for t in targets {
        while j < all.len() && all[j] < *t {
            j += 1;
        }
        let below = j.checked_sub(1).map(|i| &all[i]);
        let above_at = if all.get(j) == Some(t) { j + 1 } else { j };
        let above = all.get(above_at);
        let needed = [below, above]
            .into_iter()
            .flatten()
            .map(|n| common_hex_prefix(t, n) + 1)
            .max()
            .unwrap_or(0);
        out.push(needed.clamp(min, Digest::HEX_LEN));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A digest whose hex form starts with `hex` and continues with zeros.
    fn starting(hex: &str) -> Digest {
        format!("{hex:0<64}").parse().unwrap()
    }

    #[test]
    fn common_prefix_counts_hex_characters() {
        let a = starting("abcd");
        assert_eq!(common_hex_prefix(&a, &a), Digest::HEX_LEN);
        assert_eq!(common_hex_prefix(&a, &starting("abce")), 3);
        assert_eq!(common_hex_prefix(&a, &starting("abdd")), 2);
        assert_eq!(common_hex_prefix(&a, &starting("accd")), 1);
        assert_eq!(common_hex_prefix(&a, &starting("1bcd")), 0);
    }

    #[test]
    fn shortest_prefixes_tell_neighbours_apart() {
        let mut all = vec![
            starting("1"),
            starting("abc1"),
            starting("abc2"),
            starting("abd"),
            starting("f"),
        ];
        all.sort();
        // Present targets are told apart from both neighbours; `min` is a floor.
        assert_eq!(
            shortest_prefixes(&all, &[all[1], all[2], all[3]], 1),
            [4, 4, 3]
        );
        assert_eq!(shortest_prefixes(&all, &[all[0], all[4]], 1), [1, 1]);
        assert_eq!(shortest_prefixes(&all, &[all[0], all[4]], 4), [4, 4]);
        // A target not in `all` is told apart from the digests on both sides of it.
        assert_eq!(shortest_prefixes(&all, &[starting("abc15")], 1), [5]);
        // A lone digest needs only `min`, and an identical twin the whole digest.
        assert_eq!(shortest_prefixes(&[all[0]], &[all[0]], 4), [4]);
        assert_eq!(
            shortest_prefixes(&[all[0], all[0]], &[all[0]], 4),
            [Digest::HEX_LEN]
        );
    }
}
