// vitest setup: tfjs in production mode (no console advice about tfjs-node; we choose backends ourselves).
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true);
