import type { ClientId, RoomInfo, RoomName } from '@switchboard/protocol';
import type { MemberList } from './members.js';

export interface SidePanelElements {
  /** "3 people in #dev". */
  readonly peopleTitle: HTMLElement;
  readonly members: HTMLUListElement;
  readonly rooms: HTMLUListElement;
}

/**
 * The side panel: who is in the current room, and the rooms there are (each a
 * button that joins it). Names go in with textContent, never as HTML.
 */
export class SidePanel {
  constructor(
    private readonly el: SidePanelElements,
    private readonly ownId: () => ClientId | undefined,
    pick: (room: RoomName) => void,
  ) {
    el.rooms.addEventListener('click', (event) => {
      const button = event.target instanceof Element ? event.target.closest<HTMLButtonElement>('button[data-room]') : null;
      const room = button?.dataset.room;
      if (room !== undefined) pick(room);
    });
  }

  showMembers(members: MemberList): void {
    const room = members.room === undefined ? '' : ` in #${members.room}`;
    this.el.peopleTitle.textContent = members.answered ? `${people(members.count)}${room}` : `People${room}`;
    const own = this.ownId();
    const items = members.list.map((member) => {
      const item = document.createElement('li');
      item.className = 'member';
      item.dataset.id = member.id;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = member.nickname;
      item.append(name);
      if (member.id === own) {
        item.classList.add('member--own');
        const you = document.createElement('span');
        you.className = 'you';
        you.textContent = ' (you)';
        item.append(you);
      }
      return item;
    });
    const unlisted = members.count - items.length;
    if (unlisted > 0) {
      const more = document.createElement('li');
      more.className = 'member member--more';
      more.textContent = `and ${unlisted} more`;
      items.push(more);
    }
    this.el.members.replaceChildren(...items);
  }

  /** The rooms, each a button; the one focused keeps the focus (the list is drawn again as counts change). */
  showRooms(rooms: readonly RoomInfo[], current: RoomName | undefined): void {
    const active = document.activeElement;
    const focused = active instanceof HTMLElement && this.el.rooms.contains(active) ? active.dataset.room : undefined;
    const items = rooms.map(({ room, count }) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'room-pick';
      button.dataset.room = room;
      if (room === current) button.setAttribute('aria-current', 'true');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = `#${room}`;
      const size = document.createElement('span');
      size.className = 'count';
      size.textContent = String(count);
      size.title = people(count);
      button.append(name, size);
      item.append(button);
      return item;
    });
    this.el.rooms.replaceChildren(...items);
    if (focused !== undefined) this.el.rooms.querySelector<HTMLButtonElement>(`button[data-room="${CSS.escape(focused)}"]`)?.focus();
  }
}

function people(count: number): string {
  return count === 1 ? '1 person' : `${count} people`;
}
