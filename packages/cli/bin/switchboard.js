#!/usr/bin/env node
// A committed launcher, so the `switchboard` bin works however the build left file modes.
import '../dist/main.js';
