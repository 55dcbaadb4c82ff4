//! Reports (报表): the period's figures for the console, and their export ([`export`]).

pub mod export;
