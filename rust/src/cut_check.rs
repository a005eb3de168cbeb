//! Whether the merge loop on `L ++ R` ever merges the pair across the cut between two windows, from the
//! two windows' logs of merges (point 2 of windows.rs's argument): until that pair is picked, the loop's
//! steps are the two logs' steps interleaved, each time the lower rank first, ties to the left; the pair
//! across (`L`'s last symbol, `R`'s first) is picked as soon as its rank is below `L`'s next step's and at
//! most `R`'s. Its rank changes only at the steps that change a side of the cut.

use std::hint::select_unpredictable;

use crate::bpe::{Step, FIRST, LAST, NO_RANK};

/// `rank_across(last, first)` is the rank of the pair of those two symbols (`NO_RANK` when they do not
/// merge); `last` and `first` are the symbols on either side of the cut before any merge.
///
/// Which side steps next depends on the two ranks, so a branch on it is often mispredicted: the side is
/// chosen without one, and only the rarer events (a side of the cut changes, the pair across is picked) are
/// branches.
pub(crate) fn cut_holds(
    left: &[Step],
    mut last: u32,
    right: &[Step],
    mut first: u32,
    rank_across: impl Fn(u32, u32) -> u32,
) -> bool {
    let mut across = rank_across(last, first);
    // Past the last step that changes a side of the cut, the pair across is settled: if it merges, the
    // loop picks it once the steps of lower rank are done.
    let left_changes = left.iter().rposition(|s| s.edge & LAST != 0).map_or(0, |k| k + 1);
    let right_changes = right.iter().rposition(|s| s.edge & FIRST != 0).map_or(0, |k| k + 1);
    let (mut i, mut j) = (0, 0);
    while i < left_changes || j < right_changes {
        // An ended log's next rank is NO_RANK, above every step's.
        let (l, l_edge, l_merged) = left.get(i).map_or((NO_RANK, 0, 0), |s| (s.rank, s.edge & LAST, s.merged));
        let (r, r_edge, r_merged) = right.get(j).map_or((NO_RANK, 0, 0), |s| (s.rank, s.edge & FIRST, s.merged));
        // The left step goes first on equal ranks, then the pair across, then the right step. A log
        // that has ended never steps: its NO_RANK is not at most a step's rank, and both logs cannot
        // have ended while one still has a change to come.
        let take_left = (l <= across) & (l <= r);
        if !take_left & (across <= r) & (across != NO_RANK) {
            return false;
        }
        let (edge, merged) = select_unpredictable(take_left, (l_edge, l_merged), (r_edge, r_merged));
        i += usize::from(take_left);
        j += usize::from(!take_left);
        if edge != 0 {
            if take_left {
                last = merged;
            } else {
                first = merged;
            }
            across = rank_across(last, first);
        }
    }
    across == NO_RANK
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The replay as first written, a step at a time with a branch per case: what [`cut_holds`] must
    /// answer on any logs.
    fn replayed(left: &[Step], mut last: u32, right: &[Step], mut first: u32, rank: impl Fn(u32, u32) -> u32) -> bool {
        let (mut i, mut j) = (0, 0);
        let mut across = rank(last, first);
        let left_changes = left.iter().rposition(|s| s.edge & LAST != 0).map_or(0, |k| k + 1);
        let right_changes = right.iter().rposition(|s| s.edge & FIRST != 0).map_or(0, |k| k + 1);
        loop {
            if i >= left_changes && j >= right_changes {
                return across == NO_RANK;
            }
            let l = left.get(i).map_or(NO_RANK, |s| s.rank);
            let r = right.get(j).map_or(NO_RANK, |s| s.rank);
            if l != NO_RANK && l <= across && l <= r {
                if left[i].edge & LAST != 0 {
                    last = left[i].merged;
                    across = rank(last, first);
                }
                i += 1;
            } else if across != NO_RANK && across <= r {
                return false;
            } else if r != NO_RANK {
                if right[j].edge & FIRST != 0 {
                    first = right[j].merged;
                    across = rank(last, first);
                }
                j += 1;
            } else {
                return true;
            }
        }
    }

    /// A log of merges with few distinct ranks (so that ties are common) and edges anywhere.
    fn log() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec((0u32..12, 0u32..6, 0u8..4), 0..24).prop_map(|steps| {
            steps.into_iter().map(|(rank, merged, edge)| Step { rank, merged, end: 0, edge }).collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// The pair across's rank comes from a table of 6 x 6 symbols: some pairs do not merge, and the
        /// others' ranks meet the logs' often.
        #[test]
        fn it_answers_as_the_step_by_step_replay(
            left in log(),
            right in log(),
            (last, first) in (0u32..6, 0u32..6),
            table in prop::collection::vec(prop_oneof![3 => 0u32..12, 1 => Just(NO_RANK)], 36),
        ) {
            let rank = |last: u32, first: u32| table[(6 * (last % 6) + first % 6) as usize];
            let expected = replayed(&left, last, &right, first, rank);
            prop_assert_eq!(cut_holds(&left, last, &right, first, rank), expected);
        }
    }
}
