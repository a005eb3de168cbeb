use super::*;

#[test]
fn a_buffer_handed_back_is_the_next_one_taken() {
    let pool = BufferPool::new(1 << 20);
    let mut first = pool.take(1000);
    assert!(first.len() >= 1000 && first.iter().all(|&b| b == 0));
    first[..5].copy_from_slice(b"hello");
    let address = first.as_ptr();
    pool.give_back(first);
    assert_eq!(pool.kept_bytes(), 1000);
    let again = pool.take(800);
    assert_eq!(again.as_ptr(), address, "the spare buffer, not a new one");
    assert_eq!(&again[..5], b"hello", "its bytes are left as they were");
    assert_eq!(pool.kept_bytes(), 0);
}

#[test]
fn a_spare_buffer_too_small_is_grown() {
    let pool = BufferPool::new(1 << 20);
    pool.give_back(vec![7; 100]);
    let got = pool.take(300);
    assert_eq!(got.len(), 300);
    assert!(got[..100].iter().all(|&b| b == 7) && got[100..].iter().all(|&b| b == 0));
    assert_eq!(pool.kept_bytes(), 0);
}

#[test]
fn the_largest_fit_is_not_needed_any_fit_will_do() {
    let pool = BufferPool::new(1 << 20);
    pool.give_back(vec![1; 10]);
    pool.give_back(vec![2; 500]);
    pool.give_back(vec![3; 20]);
    let got = pool.take(400);
    assert!(got.len() >= 400 && got[0] == 2, "the one spare buffer large enough");
    assert_eq!(pool.kept_bytes(), 30);
}

#[test]
fn the_pool_keeps_at_most_its_limit() {
    let pool = BufferPool::new(1000);
    pool.give_back(vec![0; 600]);
    pool.give_back(vec![0; 600]); // would make 1200: freed
    assert_eq!(pool.kept_bytes(), 600);
    pool.give_back(vec![0; 400]);
    assert_eq!(pool.kept_bytes(), 1000);
    pool.give_back(Vec::new());
    assert_eq!(pool.kept_bytes(), 1000);
    let _ = pool.take(10);
    let _ = pool.take(10);
    assert_eq!(pool.kept_bytes(), 0);
    assert_eq!(pool.take(10).len(), 10, "an empty pool gives a new buffer");
}
