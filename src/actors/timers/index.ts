/** Durable timers (SLA due times, reminders): found by index, delivered to their runtime's actor. */
export { registerTimerMetrics, type TimerMetrics, TimerService, type TimerServiceOptions } from './timer-service.ts';
