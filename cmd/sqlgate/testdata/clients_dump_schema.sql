-- A schema for the mariadb-dump round trip (clients_e2e_test.go): most
-- column types, a generated column, a foreign key, a MyISAM table, a
-- sequence, a view, a trigger, a procedure, a function and an event, with
-- values at the edges of their types.
CREATE DATABASE dumpsrc CHARACTER SET utf8mb4;
USE dumpsrc;
CREATE TABLE parent (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(64) NOT NULL,
  big BIGINT UNSIGNED,
  price DECIMAL(12,4),
  ratio DOUBLE,
  f FLOAT,
  born DATE,
  seen DATETIME(6),
  ts TIMESTAMP NULL DEFAULT NULL,
  dur TIME(3),
  yr YEAR,
  flags SET('a','b','c'),
  kind ENUM('x','y','z') DEFAULT 'x',
  bits BIT(12),
  doc JSON,
  latin VARCHAR(32) CHARACTER SET latin1,
  note TEXT,
  raw BLOB,
  pt POINT,
  upper_name VARCHAR(64) AS (UPPER(name)) VIRTUAL,
  KEY (name)
) ENGINE=InnoDB;
CREATE TABLE child (
  id INT PRIMARY KEY,
  parent_id INT NOT NULL,
  qty SMALLINT NOT NULL DEFAULT 1,
  CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(200), at DATETIME) ENGINE=MyISAM;
CREATE SEQUENCE seq1 START WITH 100 INCREMENT BY 5;
INSERT INTO parent (name, big, price, ratio, f, born, seen, ts, dur, yr, flags, kind, bits, doc, latin, note, raw, pt) VALUES
 ('alpha', 18446744073709551615, 12345678.1234, 1.5e300, 3.25, '2024-02-29', '2024-02-29 23:59:59.123456',
  '2024-01-01 00:00:00', '-838:59:59.999', 2024, 'a,c', 'y', b'101010101010', '{"k": [1, 2, {"n": null}]}', 'café',
  'line1\nline2\ttab \\ back ''quote'' "dq"', 0x00FF10275C27220D0A1A, POINT(1.5, -2.25)),
 ('ünïcødé 😀', 0, -0.0001, -0, -1e-30, '1000-01-01', '9999-12-31 23:59:59.999999', NULL, '00:00:00', 1901, '', 'z',
  b'0', '[]', NULL, '', '', NULL),
 ('nulls', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO child VALUES (1, 1, 3), (2, 1, 4), (3, 2, 1);
CREATE VIEW v_totals AS
  SELECT p.name, SUM(c.qty) AS total FROM parent p JOIN child c ON c.parent_id = p.id GROUP BY p.name;
CREATE TRIGGER child_ai AFTER INSERT ON child FOR EACH ROW
  INSERT INTO audit (msg, at) VALUES (CONCAT('child ', NEW.id), '2024-01-01 00:00:00');
DELIMITER ;;
CREATE PROCEDURE add_child(IN p INT, IN q INT)
BEGIN
  INSERT INTO child (id, parent_id, qty) SELECT COALESCE(MAX(id), 0) + 1, p, q FROM child;
END;;
CREATE FUNCTION total_for(p INT) RETURNS INT DETERMINISTIC READS SQL DATA
  RETURN (SELECT COALESCE(SUM(qty), 0) FROM child WHERE parent_id = p);;
DELIMITER ;
CREATE EVENT ev_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE
  DO DELETE FROM audit WHERE at < '2000-01-01';
CALL add_child(2, 7);
