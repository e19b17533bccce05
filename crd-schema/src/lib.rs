//! Validates, defaults and prunes objects against CustomResourceDefinition structural schemas, including CEL rules.
