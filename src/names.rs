//! The plumbing every named enum of the crate shares: its names come from strum's
//! `VariantNames` (derived from the declaration, the one list), read by a `const fn as_str`
//! that each type documents itself.

/// For an enum `$ty` with `const ALL: [$ty; N]` in declaration order and a `const fn as_str`:
/// `&'static str: From<$ty>`, a `Display` that writes the name and honours padding, and
/// compile-time checks that `ALL`, the discriminants and strum's counts and names agree
/// (the tables and `as_str` index by discriminant).
macro_rules! named_enum {
    ($ty:ident) => {
        impl From<$ty> for &'static str {
            #[doc = concat!("[`", stringify!($ty), "::as_str`].")]
            fn from(value: $ty) -> &'static str {
                value.as_str()
            }
        }

        impl core::fmt::Display for $ty {
            /// Writes the name; padding and alignment flags are honoured.
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.pad(self.as_str())
            }
        }

        const _: () = {
            assert!(<$ty as strum::EnumCount>::COUNT == $ty::ALL.len());
            assert!(<$ty as strum::VariantNames>::VARIANTS.len() == $ty::ALL.len());
            let mut i = 0;
            while i < $ty::ALL.len() {
                assert!(
                    $ty::ALL[i] as usize == i,
                    "discriminants are indices of ALL"
                );
                i += 1;
            }
        };
    };
}

pub(crate) use named_enum;
