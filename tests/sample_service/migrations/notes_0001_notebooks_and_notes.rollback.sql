drop table notes.notes;
drop table notes.notebooks;
drop schema notes;
