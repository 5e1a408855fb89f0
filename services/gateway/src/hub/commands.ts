import { nickChangedText, type ClientCommand } from '@switchboard/protocol';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { Member } from './member.js';
import type { OrderedPublisher } from './publisher.js';

/**
 * What each client command becomes: a chat line a `message` event, a rename a
 * `nick_update` event (and the session's new name, for its disconnect notice).
 * Everything a client asks for reaches others only through the bus.
 */
export class CommandHandler {
  constructor(
    private readonly publisher: OrderedPublisher,
    private readonly sessions: SessionRegistry,
  ) {}

  handle(member: Member, command: ClientCommand): void {
    const { peer } = member;
    const ref = command.ref === undefined ? {} : { ref: command.ref };
    switch (command.type) {
      case 'message':
        this.publisher.publish(member, {
          type: 'message',
          id: peer.id,
          nickname: peer.nickname,
          message: command.message,
          time: Date.now(),
          ...ref,
        });
        return;
      case 'nick': {
        const previous = peer.nickname;
        const nickname = command.nickname;
        peer.nickname = nickname;
        peer.log.info({ previous, nickname }, 'nick changed');
        this.publisher.publish(
          member,
          { type: 'nick_update', id: peer.id, nickname, message: nickChangedText(previous, nickname), previous, time: Date.now(), ...ref },
          {
            // The cluster never heard of the new name: keep the old one.
            onFailure: () => {
              if (peer.nickname === nickname) peer.nickname = previous;
            },
            onSuccess: () => this.sessions.rename(member.token!, { id: peer.id, nickname }),
          },
        );
        return;
      }
    }
  }
}
