import { v7 as uuidv7 } from 'uuid';

/** Ids are UUIDv7: time-ordered, so inserts land at the right edge of the primary-key index. */
export interface IdGenerator {
  uuid(): string;
}

export const uuidV7Ids: IdGenerator = { uuid: () => uuidv7() };
