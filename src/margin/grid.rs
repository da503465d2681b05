//! The scenario grid: spot moves x vol moves (Lyra v2 PM2 shape) and the margin method.

/// The method the oracle names per underlying. **Both are full revaluation now**: the
/// delta-gamma-vega Taylor path (`Greeks`) understated full revaluation on 4% of random
/// books, by up to 72% (no volga or vanna, Taylor steps on scaled-up grids, unbounded gains
/// of long legs), so a check no longer trusts it, whatever the oracle says. The value is
/// kept in the oracle's layout until the parameters are redesigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Retired Taylor path: valued as [`Method::Full`].
    Greeks,
    /// Every option repriced in every scenario, and between the grid's points.
    Full,
}

/// Direction of the volatility move in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolMove {
    /// `vol x (1 + vol_up x m(T))`.
    Up,
    /// Unchanged.
    None,
    /// `vol x max(1 - vol_down x m(T), 0.05)`.
    Down,
}

/// One stress scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// Relative spot move (WAD), e.g. `-0.045e18`.
    pub spot: i128,
    /// Volatility move.
    pub vol: VolMove,
    /// Weight of the scenario's loss (WAD): `WAD` for the near grid, a dampening factor
    /// below `WAD` for extreme moves. Scenarios with weight below `WAD` are "extreme"
    /// and are always repriced exactly.
    pub weight: i128,
}

const fn sc(spot_bps: i128, vol: VolMove, weight_ppm: i128) -> Scenario {
    Scenario {
        spot: spot_bps * 100_000_000_000_000,
        vol,
        weight: weight_ppm * 1_000_000_000_000,
    }
}

/// Default grid after Lyra v2's PM2: +-4.5%, +-9%, +-13.5% with vol up, unchanged and
/// down; +-18% with vol up; 0% with vol up and down; -66% (x0.21), -33% (x0.42),
/// +50% (x0.2772), +100% (x0.1386) with vol up, their losses dampened.
pub const DEFAULT_GRID: [Scenario; 26] = {
    use VolMove::{Down, None as Flat, Up};
    const F: i128 = 1_000_000;
    [
        sc(450, Up, F),
        sc(450, Flat, F),
        sc(450, Down, F),
        sc(-450, Up, F),
        sc(-450, Flat, F),
        sc(-450, Down, F),
        sc(900, Up, F),
        sc(900, Flat, F),
        sc(900, Down, F),
        sc(-900, Up, F),
        sc(-900, Flat, F),
        sc(-900, Down, F),
        sc(1350, Up, F),
        sc(1350, Flat, F),
        sc(1350, Down, F),
        sc(-1350, Up, F),
        sc(-1350, Flat, F),
        sc(-1350, Down, F),
        sc(1800, Up, F),
        sc(-1800, Up, F),
        sc(0, Up, F),
        sc(0, Down, F),
        sc(-6600, Up, 210_000),
        sc(-3300, Up, 420_000),
        sc(5000, Up, 277_200),
        sc(10000, Up, 138_600),
    ]
};
