/** Default and ceiling of concurrent replay writers (`rtrec import events --replay --writers`). */
export const REPLAY_WRITERS = { default: 4, max: 32 } as const;
