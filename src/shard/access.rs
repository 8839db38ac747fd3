//! Per-key access tracking as Redis keeps it in 24 bits: an LRU clock in seconds, or,
//! under an LFU policy, 16 bits of minutes (last decrement time) and an 8-bit
//! logarithmic counter.

use rand::Rng;

use crate::util::cached_ms;

pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
pub const LFU_INIT_VAL: u32 = 5;

/// Seconds clock, 24 bits (Redis's LRU_CLOCK with 1 s resolution), read from the time
/// cached at the shard's last cron tick as Redis caches it in serverCron.
pub fn lru_clock() -> u32 {
    ((cached_ms() / 1000) as u32) & LRU_CLOCK_MAX
}

fn lfu_minutes() -> u32 {
    ((cached_ms() / 1000 / 60) as u32) & 0xffff
}

/// The access field of a newly created key.
pub fn initial(lfu: bool) -> u32 {
    if lfu {
        (lfu_minutes() << 8) | LFU_INIT_VAL
    } else {
        lru_clock()
    }
}

/// Seconds since the last access (OBJECT IDLETIME, LRU eviction).
pub fn idle_secs(access: u32) -> u64 {
    let now = lru_clock();
    let lru = access & LRU_CLOCK_MAX;
    (if now >= lru {
        now - lru
    } else {
        now + (LRU_CLOCK_MAX - lru)
    }) as u64
}

/// The LFU counter after decay by the minutes elapsed (`lfu-decay-time`).
pub fn lfu_decayed(access: u32, decay_time: i64) -> u32 {
    let ldt = access >> 8;
    let counter = access & 255;
    let now = lfu_minutes();
    let elapsed = if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    };
    let periods = if decay_time > 0 {
        elapsed / decay_time as u32
    } else {
        0
    };
    counter.saturating_sub(periods)
}

fn lfu_log_incr<R: Rng>(counter: u32, log_factor: i64, rng: &mut R) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor.max(0) as f64 + 1.0);
    if rng.gen::<f64>() < p {
        counter + 1
    } else {
        counter
    }
}

/// Record an access.
pub fn touch<R: Rng>(access: &mut u32, lfu: bool, log_factor: i64, decay_time: i64, rng: &mut R) {
    if lfu {
        let c = lfu_log_incr(lfu_decayed(*access, decay_time), log_factor, rng);
        *access = (lfu_minutes() << 8) | c;
    } else {
        *access = lru_clock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn lfu_counts_like_redis() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut a = initial(true);
        assert_eq!(lfu_decayed(a, 1), 5);
        touch(&mut a, true, 10, 1, &mut rng);
        assert_eq!(lfu_decayed(a, 1), 6);
        for _ in 0..100_000 {
            touch(&mut a, true, 10, 1, &mut rng);
        }
        let c = lfu_decayed(a, 1);
        assert!(c > 10 && c < 255, "{c}");
    }

    #[test]
    fn lru_idle() {
        assert!(idle_secs(initial(false)) <= 1);
        assert!(idle_secs(lru_clock().wrapping_sub(100) & LRU_CLOCK_MAX) >= 99);
    }
}
