// ES module entry of `hpp-status`: the same objects as require('hpp-status').
import api from './index.cjs';

export const {
  STATUSES,
  ACTIONS,
  TransitionError,
  Tracker,
  Session,
  parseStatus,
  isFinal,
  canTransition,
  canReach,
  apply,
  parseSession,
  parseCallback,
} = api;
