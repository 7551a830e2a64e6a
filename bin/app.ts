#!/usr/bin/env node
import { createUsageTrackerApp } from '../lib/app';

createUsageTrackerApp().app.synth();
