//! The `arbitrary` feature: every value can be generated, and every input yields a value.
#![cfg(feature = "arbitrary")]

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use hpp_status::{Action, Actor, Status, StatusSet};

/// What `T::arbitrary` makes of each of many 4-byte inputs (enough for one enum choice).
fn generated<T: for<'a> Arbitrary<'a> + Ord>() -> BTreeSet<T> {
    (0..=u16::MAX)
        .map(|n| {
            let bytes = (u32::from(n) << 16).to_le_bytes();
            T::arbitrary(&mut Unstructured::new(&bytes)).expect("4 bytes are enough")
        })
        .collect()
}

#[test]
fn every_status_action_and_actor_can_be_generated() {
    assert_eq!(
        generated::<Status>().into_iter().collect::<Vec<_>>(),
        Status::ALL
    );
    assert_eq!(
        generated::<Action>().into_iter().collect::<Vec<_>>(),
        Action::ALL
    );
    assert_eq!(
        generated::<Actor>().into_iter().collect::<Vec<_>>(),
        Actor::ALL
    );
}

#[test]
fn any_byte_is_a_status_set() {
    for byte in 0..=u8::MAX {
        let set = StatusSet::arbitrary(&mut Unstructured::new(&[byte])).unwrap();
        assert_eq!(set.bits(), byte);
        assert_eq!(set.len(), byte.count_ones() as usize);
    }
}

#[test]
fn generation_never_fails_even_without_data() {
    let mut empty = Unstructured::new(&[]);
    assert!(Status::ALL.contains(&Status::arbitrary(&mut empty).unwrap()));
    assert!(Action::ALL.contains(&Action::arbitrary(&mut empty).unwrap()));
    assert!(Actor::ALL.contains(&Actor::arbitrary(&mut empty).unwrap()));
    assert_eq!(StatusSet::arbitrary(&mut empty).unwrap(), StatusSet::EMPTY);
}
