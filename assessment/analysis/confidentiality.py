"""Which cells of a breakdown may be shown: primary and complementary suppression.

Owns the confidentiality promise made to respondents: no group, role, group x role cell (or a
group's share of a cluster) describing fewer than `min_group_size` people is shown, and no hidden
cell can be recovered by subtracting the shown cells from a total that is shown elsewhere.

A breakdown is a line of cells that add up to a shown total (the groups of one item, the roles of
one group, the groups of one cluster). Within each line:

1. primary suppression hides every non-empty cell below `min_group_size`;
2. complementary suppression then hides the smallest shown cell while the hidden cells of the line
   could be recovered or are too small together: exactly one hidden cell, or hidden cells that add
   up to fewer than `min_group_size` people. (The second condition goes beyond "exactly one": two
   hidden cells of 1 and 2 people would otherwise be recoverable as a pair of 3.)

For a two-way table both the rows and the columns are lines, and the rule is applied to both until
nothing changes. Empty cells carry no information and are never used as a complement.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd


def suppressed_cells(
    counts: pd.DataFrame,
    min_group_size: int,
    *,
    hidden: pd.DataFrame | None = None,
    lines: Sequence[int] = (0,),
) -> pd.DataFrame:
    """Boolean frame shaped like `counts`: True where a cell must not be shown.

    `counts` holds the number of people in each cell (NaN counts as empty). `hidden` marks cells
    already hidden for another reason (a suppressed group's row). `lines` says which axes form
    breakdowns: 0 for each column (e.g. the groups of one item), 1 for each row; (0, 1) for a
    two-way table such as group x role.
    """
    size = np.nan_to_num(counts.to_numpy(dtype=float), nan=0.0)
    filled = size > 0
    hide = filled & (size < min_group_size)
    if hidden is not None:
        hide |= hidden.reindex(index=counts.index, columns=counts.columns,
                               fill_value=False).to_numpy(dtype=bool)
    changed = True
    while changed:
        changed = False
        for axis in lines:
            # Work on columns: for axis 1 the transposed views write through to `hide`.
            s, f, h = (size, filled, hide) if axis == 0 else (size.T, filled.T, hide.T)
            hidden_here = h & f
            n_hidden = hidden_here.sum(axis=0)
            people_hidden = np.where(hidden_here, s, 0.0).sum(axis=0)
            candidates = f & ~h
            needs = ((n_hidden == 1) | ((n_hidden > 0) & (people_hidden < min_group_size)))
            needs &= candidates.any(axis=0)
            if not needs.any():
                continue
            columns = np.flatnonzero(needs)
            smallest = np.where(candidates[:, columns], s[:, columns], np.inf).argmin(axis=0)
            h[smallest, columns] = True
            changed = True
    return pd.DataFrame(hide, index=counts.index, columns=counts.columns)


def suppressed_keys(sizes: pd.Series, min_group_size: int,
                    hidden: Collection[str] = ()) -> pd.Series:
    """True for each key (group or role) of a one-way breakdown that must not be shown.

    `sizes` is the number of respondents per key; `hidden` names keys hidden whatever their size
    (those an earlier release hid: shown now, their growth since would give away the people
    who were hidden then).
    """
    forced = None
    if hidden:
        forced = pd.DataFrame({"n": [str(k) in set(hidden) for k in sizes.index]},
                              index=sizes.index)
    frame = suppressed_cells(sizes.to_frame("n"), min_group_size, hidden=forced)
    return frame["n"]
