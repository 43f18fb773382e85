export { loadRoom, type StoredRoom, saveRoom } from './room-store.js';
export { createRoomTokens, type Pass, type QueueToken, type RoomTokens } from './room-tokens.js';
export {
  createWaitingRoom,
  type JoinOutcome,
  type PollOutcome,
  type RoomSettings,
  type RoomState,
  type WaitingRoom,
} from './waiting-room.js';
