//! Bringing outside data in: shared normalisation of names, dates and money.

pub mod normalize;
