//! The search of GEOSEARCH and GEORADIUS: which score ranges to scan (the center cell
//! and its neighbours at a step estimated from the radius), the exact radius / box
//! test of each candidate, and the ordering of the results.
//!
//! Redis's choices are kept where they change replies: the cells scanned (a point just
//! outside them is not found even when within the radius), the scan order (it is the
//! reply order without ASC/DESC, and what COUNT ... ANY keeps), and neighbour cells
//! that repeat only being skipped when equal to the one scanned just before.

use std::cmp::Ordering;

use bytes::Bytes;

use super::hash::{self, Area, Cell, LAT_RANGE, LON_RANGE, STEP_MAX};

/// The search area, sizes in the request's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// A search: center, area, and meters per unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Search {
    pub lon: f64,
    pub lat: f64,
    pub shape: Shape,
    pub unit: f64,
}

/// A member found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub member: Bytes,
    pub score: f64,
    /// From the center, in meters.
    pub dist: f64,
    pub lon: f64,
    pub lat: f64,
}

/// Sorted-set access a search needs: members with `min <= score < max` in score
/// order (then member order), until `f` returns false.
pub trait ScoreScan {
    fn scan_scores(&self, min: f64, max: f64, f: &mut dyn FnMut(&[u8], f64) -> bool);
}

/// Cell size for a radius: the largest cells still about as wide as the radius, one
/// step coarser near the poles and another above 80 degrees.
pub fn estimate_step(radius_m: f64, lat: f64) -> u8 {
    if radius_m == 0.0 {
        return STEP_MAX;
    }
    let mut step: i32 = 1;
    let mut r = radius_m;
    while r < hash::MERCATOR_MAX {
        r *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, i32::from(STEP_MAX)) as u8
}

/// Move a cell by `dlon`, `dlat` cells, wrapping around at the index edges. Only a
/// coordinate that moves is reduced to `step` bits: a center on the upper limit
/// (index 2^step) keeps that index in the coordinate that stays, as in Redis.
fn shift(c: Cell, dlon: i64, dlat: i64) -> Cell {
    let (lat, lon) = hash::deinterleave(c.bits);
    let mask = (1u64 << c.step) - 1;
    let moved = |idx: u32, d: i64| {
        if d == 0 {
            u64::from(idx)
        } else {
            (u64::from(idx) as i64 + d) as u64 & mask
        }
    };
    let lon = moved(lon, dlon);
    let lat = moved(lat, dlat);
    Cell {
        bits: hash::interleave(lat as u32, lon as u32),
        step: c.step,
    }
}

/// The center cell and its eight neighbours in Redis's scan order; None for a
/// neighbour that cannot hold a match.
pub type Cells = [Option<Cell>; 9];

const CENTER: usize = 0;
const NORTH: usize = 1;
const SOUTH: usize = 2;
const EAST: usize = 3;
const WEST: usize = 4;
const NORTH_EAST: usize = 5;
const NORTH_WEST: usize = 6;
const SOUTH_EAST: usize = 7;
const SOUTH_WEST: usize = 8;

/// (dlon, dlat) of each slot of `Cells`.
const MOVES: [(i64, i64); 9] = [
    (0, 0),
    (0, 1),
    (0, -1),
    (1, 0),
    (-1, 0),
    (1, 1),
    (-1, 1),
    (1, -1),
    (-1, -1),
];

impl Search {
    fn meters(&self, v: f64) -> f64 {
        v * self.unit
    }

    /// Half extents in meters: (towards north/south, towards east/west).
    fn half_extents(&self) -> (f64, f64) {
        match self.shape {
            Shape::Radius(r) => (self.meters(r), self.meters(r)),
            Shape::Box { width, height } => (self.meters(height / 2.0), self.meters(width / 2.0)),
        }
    }

    /// `[min_lon, min_lat, max_lon, max_lat]` around the center. The longitude span
    /// is taken on the parallel nearer the pole, where a meter is more degrees.
    pub fn bounding_box(&self) -> [f64; 4] {
        let (height, width) = self.half_extents();
        let lat_delta = hash::rad_deg(height / hash::EARTH_RADIUS_M);
        let lon_delta_at =
            |lat: f64| hash::rad_deg(width / hash::EARTH_RADIUS_M / hash::deg_rad(lat).cos());
        let lon_delta = if self.lat < 0.0 {
            lon_delta_at(self.lat - lat_delta)
        } else {
            lon_delta_at(self.lat + lat_delta)
        };
        [
            self.lon - lon_delta,
            self.lat - lat_delta,
            self.lon + lon_delta,
            self.lat + lat_delta,
        ]
    }

    /// Radius of the circle the search estimates its step from, in meters.
    fn reach_m(&self) -> f64 {
        let r = match self.shape {
            Shape::Radius(r) => r,
            Shape::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        };
        r * self.unit
    }

    fn cells_at(&self, step: u8) -> (Cells, Area) {
        let center = hash::encode(LON_RANGE, LAT_RANGE, self.lon, self.lat, step)
            .unwrap_or(Cell { bits: 0, step });
        let mut cells: Cells = [None; 9];
        for (slot, &(dlon, dlat)) in cells.iter_mut().zip(MOVES.iter()) {
            *slot = Some(shift(center, dlon, dlat));
        }
        (cells, hash::decode(LON_RANGE, LAT_RANGE, center))
    }

    /// The cells to scan.
    pub fn cells(&self) -> Cells {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let mut step = estimate_step(self.reach_m(), self.lat);
        let (mut cells, mut area) = self.cells_at(step);

        // Near the edge of a cell the estimated step can leave part of the area
        // beyond the neighbours: then use cells twice as large.
        let area_of = |c: Option<Cell>| {
            hash::decode(LON_RANGE, LAT_RANGE, c.unwrap_or(Cell { bits: 0, step }))
        };
        let too_small = area_of(cells[NORTH]).lat.max < max_lat
            || area_of(cells[SOUTH]).lat.min > min_lat
            || area_of(cells[EAST]).lon.max < max_lon
            || area_of(cells[WEST]).lon.min > min_lon;
        if step > 1 && too_small {
            step -= 1;
            (cells, area) = self.cells_at(step);
        }

        // Drop the neighbours on a side the area does not reach.
        if step >= 2 {
            let mut drop = |slots: [usize; 3]| {
                for s in slots {
                    cells[s] = None;
                }
            };
            if area.lat.min < min_lat {
                drop([SOUTH, SOUTH_WEST, SOUTH_EAST]);
            }
            if area.lat.max > max_lat {
                drop([NORTH, NORTH_EAST, NORTH_WEST]);
            }
            if area.lon.min < min_lon {
                drop([WEST, SOUTH_WEST, NORTH_WEST]);
            }
            if area.lon.max > max_lon {
                drop([EAST, SOUTH_EAST, NORTH_EAST]);
            }
        }
        cells
    }

    /// Score ranges `[min, max)` to scan, in order. A cell equal to the one scanned
    /// just before it is skipped (wide searches make neighbours coincide); other
    /// repeats are scanned again, as Redis does.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        let cells = self.cells();
        let mut out = Vec::with_capacity(9);
        let mut last: Option<usize> = None;
        for (i, c) in cells.iter().enumerate() {
            let Some(c) = c else { continue };
            if let Some(l) = last.filter(|&l| l != CENTER) {
                if cells[l] == Some(*c) {
                    continue;
                }
            }
            let shift = 52 - 2 * u32::from(c.step);
            out.push((c.bits << shift, (c.bits + 1) << shift));
            last = Some(i);
        }
        out
    }

    /// Distance in meters from the center to a stored point, if the point is inside
    /// the area.
    pub fn test(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.shape {
            Shape::Radius(r) => {
                let d = hash::distance(self.lon, self.lat, lon, lat);
                (d <= self.meters(r)).then_some(d)
            }
            Shape::Box { width, height } => {
                let along_lon = hash::distance(lon, lat, self.lon, lat);
                let along_lat = hash::distance(lon, lat, lon, self.lat);
                if along_lon > self.meters(width) / 2.0 || along_lat > self.meters(height) / 2.0 {
                    return None;
                }
                Some(hash::distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// Every member inside the area, in scan order; with `limit` > 0, stop once that
    /// many are found (COUNT n ANY).
    pub fn run(&self, set: &dyn ScoreScan, limit: usize) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        let full = |hits: &Vec<Hit>| limit > 0 && hits.len() >= limit;
        for (min, max) in self.ranges() {
            if full(&hits) {
                break;
            }
            set.scan_scores(min as f64, max as f64, &mut |member, score| {
                let (lon, lat) = hash::decode_score(score);
                if let Some(dist) = self.test(lon, lat) {
                    hits.push(Hit {
                        member: Bytes::copy_from_slice(member),
                        score,
                        dist,
                        lon,
                        lat,
                    });
                }
                !full(&hits)
            });
        }
        hits
    }
}

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    None,
    Asc,
    Desc,
}

/// Order `hits` by distance and keep the first `count` (0: all). Like Redis, a sort
/// that keeps every hit is stable (ties keep scan order); one that keeps fewer is the
/// partial quicksort, whose tie order Redis's replies show (see `pqsort`).
pub fn finish(hits: &mut Vec<Hit>, sort: Sort, count: usize) {
    let keep = if count > 0 {
        count.min(hits.len())
    } else {
        hits.len()
    };
    let desc = match sort {
        Sort::None => {
            hits.truncate(keep);
            return;
        }
        Sort::Asc => false,
        Sort::Desc => true,
    };
    // Equal distances compare equal (also 0 and -0), as in Redis.
    let mut by_dist = |a: &Hit, b: &Hit| {
        let o = a.dist.partial_cmp(&b.dist).unwrap_or(Ordering::Equal);
        if desc {
            o.reverse()
        } else {
            o
        }
    };
    if keep == hits.len() {
        hits.sort_by(by_dist);
    } else if keep > 0 {
        super::pqsort::partial_sort(hits, &mut by_dist, 0, keep - 1);
    }
    hits.truncate(keep);
}
