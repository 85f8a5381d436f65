//! Support shared by the whole-engine tests.
#![allow(dead_code)]

pub mod recorder;
