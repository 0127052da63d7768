package store

// StateOf is stateOf, for the tests of package store_test.
var StateOf = stateOf
