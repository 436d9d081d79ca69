/* ring: PLACEHOLDER */
